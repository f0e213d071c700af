DROP TABLE {{ index .Parameters "Namespace" }}.audit_log;
DROP SCHEMA {{ index .Parameters "Namespace" }};
