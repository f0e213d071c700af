SELECT 1;

SELECT ${missing};
