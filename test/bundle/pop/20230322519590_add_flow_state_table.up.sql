-- see: https://github.com/supabase/gotrue/pull/1
do $$ begin
    create type {{ index .Options "Namespace" }}.code_challenge_method as enum('s256', 'plain');
exception
    when duplicate_object then null;
end $$;
create table if not exists {{ .Options.Namespace }}.flow_state(
       id uuid primary key,
       user_id uuid null,
       auth_code text not null,
       code_challenge_method {{ index .Options "Namespace" }}.code_challenge_method not null,
       {{- if eq .Dialect "postgres" }}
       provider_payload jsonb null,
       {{- else }}
       provider_payload json null,
       {{- end }}
       created_at timestamptz null
);
comment on table {{ .Options.Namespace }}.flow_state is 'stores metadata for pkce logins, migrated by {{ .MigrationTableName }}';
