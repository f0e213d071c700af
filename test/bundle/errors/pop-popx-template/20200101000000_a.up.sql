CREATE TABLE a (
	id int,
{{ if .IsPostgreSQL }}	data jsonb
{{ else }}	data json
{{ end }});
