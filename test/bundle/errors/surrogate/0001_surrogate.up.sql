-- ok
-- ok
SELECT 'í €';
