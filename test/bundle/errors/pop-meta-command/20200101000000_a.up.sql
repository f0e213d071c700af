-- a backslash in a comment: \i is not a command here /* nor \set here */
{{- if eq .Dialect "mysql" }}
CREATE TABLE a (id int) ENGINE = InnoDB;
SELECT 'it\'s mysql';
{{- else }}
CREATE TABLE a (id int, t text DEFAULT 'C:\temp', u text DEFAULT '{{ .MigrationTableName }}');
INSERT INTO a VALUES (1, E'tab\tand \' quote'), (2, $$\n$$), (3, U&'\0041');
{{- end }}
SELECT format('CREATE INDEX ON %s (id)', 'a') \gexec
