ALTER TABLE audit_log_entries ADD COLUMN ip_address VARCHAR(64) NOT NULL DEFAULT '' AFTER payload;
