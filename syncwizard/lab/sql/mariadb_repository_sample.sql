-- 2,000 sample nodes, as repository_sample.sql: Company Home (id 1), 20 folders under it,
-- 1,979 documents in them.
SET SESSION max_recursive_iterations = 10000;  -- MariaDB: 1,000 by default
INSERT INTO alf_node (id, uuid, type_qname, name, parent_id, created_at, modified_at)
WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 2000)
SELECT
    n,
    UUID(),
    CASE WHEN n <= 21
        THEN '{http://www.alfresco.org/model/content/1.0}folder'
        ELSE '{http://www.alfresco.org/model/content/1.0}content'
    END,
    CASE
        WHEN n = 1 THEN 'Company Home'
        WHEN n <= 21 THEN CONCAT('Department ', LPAD(n - 1, 2, '0'))
        ELSE CONCAT('document-', LPAD(n, 4, '0'), '.',
                    ELT(1 + n % 5, 'pdf', 'docx', 'xlsx', 'txt', 'png'))
    END,
    CASE WHEN n = 1 THEN NULL WHEN n <= 21 THEN 1 ELSE 2 + n % 20 END,
    NOW(6) - INTERVAL (730 - n % 730) DAY - INTERVAL n SECOND,
    NOW(6) - INTERVAL ((730 - n % 730) DIV 2) DAY - INTERVAL n SECOND
FROM seq;

INSERT INTO alf_node_properties (node_id, qname, string_value)
SELECT id, '{http://www.alfresco.org/model/content/1.0}name', name FROM alf_node
UNION ALL
SELECT id, '{http://www.alfresco.org/model/content/1.0}title',
       CONCAT(UPPER(LEFT(REPLACE(name, '-', ' '), 1)), SUBSTRING(REPLACE(name, '-', ' '), 2))
FROM alf_node
UNION ALL
SELECT id, '{http://www.alfresco.org/model/content/1.0}creator',
       ELT(1 + id % 4, 'admin', 'abeecher', 'mjackson', 'jdoe')
FROM alf_node
UNION ALL
SELECT id, '{http://www.alfresco.org/model/content/1.0}modifier',
       ELT(1 + id % 3, 'admin', 'mjackson', 'abeecher')
FROM alf_node;

ANALYZE TABLE alf_node, alf_node_properties;
