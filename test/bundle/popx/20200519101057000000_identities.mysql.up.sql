CREATE TABLE identities (
  id char(36) NOT NULL PRIMARY KEY,
  nid char(36),
  traits JSON NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
) ENGINE=InnoDB;
