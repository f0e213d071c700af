{{/* pop's template: the schema comes from the connection's options */}}
CREATE SCHEMA IF NOT EXISTS {{ index .Options "Namespace" }};
CREATE TABLE {{ index .Options "Namespace" }}.audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
{{- if .IsPostgreSQL }}
  payload jsonb NOT NULL
{{- else }}
  payload JSON NOT NULL
{{- end }}
);
