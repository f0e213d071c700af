drop index {{ index .Options "Namespace" }}.users_is_anonymous_idx;
alter table {{ index .Options "Namespace" }}.users drop column is_anonymous;
