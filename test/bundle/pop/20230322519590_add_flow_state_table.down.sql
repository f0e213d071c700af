drop table {{ index .Options "Namespace" }}.flow_state;
drop type {{ index .Options "Namespace" }}.code_challenge_method;
