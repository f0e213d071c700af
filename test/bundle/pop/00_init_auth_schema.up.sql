-- auth.users definition

CREATE SCHEMA IF NOT EXISTS {{ index .Options "Namespace" }};

CREATE TABLE IF NOT EXISTS {{ index .Options "Namespace" }}.users (
	instance_id uuid NULL,
	id uuid NOT NULL UNIQUE,
	email varchar(255) NULL UNIQUE,
	created_at timestamptz NULL,
	CONSTRAINT users_pkey PRIMARY KEY (id)
);
comment on table {{index .Options "Namespace" }}.users is 'Auth: Stores user login data within a secure schema.';

CREATE TABLE IF NOT EXISTS {{ index .Options "Namespace" }}.audit_log_entries (
	instance_id uuid NULL,
	id uuid NOT NULL,
	payload json NULL,
	created_at timestamptz NULL,
	CONSTRAINT audit_log_entries_pkey PRIMARY KEY (id)
);
