-- 2,000 sample nodes: Company Home (id 1), 20 folders under it, 1,979 documents in them.
INSERT INTO alf_node (id, uuid, type_qname, name, parent_id, created_at, modified_at)
SELECT
    n,
    gen_random_uuid(),
    CASE WHEN n <= 21
        THEN '{http://www.alfresco.org/model/content/1.0}folder'
        ELSE '{http://www.alfresco.org/model/content/1.0}content'
    END,
    CASE
        WHEN n = 1 THEN 'Company Home'
        WHEN n <= 21 THEN format('Department %s', lpad((n - 1)::text, 2, '0'))
        ELSE format('document-%s.%s', lpad(n::text, 4, '0'),
                    (ARRAY['pdf', 'docx', 'xlsx', 'txt', 'png'])[1 + n % 5])
    END,
    CASE WHEN n = 1 THEN NULL WHEN n <= 21 THEN 1 ELSE 2 + n % 20 END,
    now() - make_interval(days => 730 - n % 730, secs => n),
    now() - make_interval(days => (730 - n % 730) / 2, secs => n)
FROM generate_series(1, 2000) AS n;

SELECT setval('alf_node_id_seq', (SELECT max(id) FROM alf_node));

INSERT INTO alf_node_properties (node_id, qname, string_value)
SELECT id, '{http://www.alfresco.org/model/content/1.0}name', name FROM alf_node
UNION ALL
SELECT id, '{http://www.alfresco.org/model/content/1.0}title', initcap(replace(name, '-', ' '))
FROM alf_node
UNION ALL
SELECT id, '{http://www.alfresco.org/model/content/1.0}creator',
       (ARRAY['admin', 'abeecher', 'mjackson', 'jdoe'])[1 + id % 4]
FROM alf_node
UNION ALL
SELECT id, '{http://www.alfresco.org/model/content/1.0}modifier',
       (ARRAY['admin', 'mjackson', 'abeecher'])[1 + id % 3]
FROM alf_node;
