CREATE TABLE identities (
  id UUID NOT NULL PRIMARY KEY,
  nid UUID REFERENCES networks(id) ON DELETE CASCADE,
  traits jsonb NOT NULL,
  created_at timestamp NOT NULL,
  updated_at timestamp NOT NULL
);
