-- PostGraphile's view of Rapport's tables for bench/home.py: the same rows the home query reads,
-- in a schema of the bench's own (not Rapport's migrations). bench/home.py runs this file in one
-- transaction before it starts PostGraphile; it is safe to run again.
DROP SCHEMA IF EXISTS bench_graphile CASCADE;
CREATE SCHEMA bench_graphile;

-- Living contacts (store/contacts.py ALIVE: cl % 2 = 1), with displayName as schema/nodes.py
-- builds it. The ix_contacts_follow_up partial index serves (owner_id, next_follow_up_at, id).
CREATE VIEW bench_graphile.contacts AS
SELECT c.owner_id, c.id, btrim(c.first_name || ' ' || c.last_name) AS display_name, c.company,
       c.next_follow_up_at, c.last_interaction_at
FROM public.contacts AS c
WHERE c.cl % 2 = 1;

COMMENT ON VIEW bench_graphile.contacts IS E'@primaryKey id\n@unique owner_id,id\n@behavior -insert -update -delete';

-- A contact's living interactions, newest first, through the participants index as
-- store/interactions.py latest_for_contacts reads them (p.alive; occurred_at copied to p).
CREATE VIEW bench_graphile.contact_interactions AS
SELECT p.owner_id, p.contact_id, p.interaction_id AS id, i.kind, p.occurred_at, i.summary
FROM public.interaction_participants AS p
JOIN public.interactions AS i ON i.owner_id = p.owner_id AND i.id = p.interaction_id
WHERE p.alive;

-- The owner is part of the relation, so every FROM carries the owner predicate, as Rapport's.
COMMENT ON VIEW bench_graphile.contact_interactions IS E'@primaryKey contact_id,id\n@foreignKey (owner_id, contact_id) references bench_graphile.contacts (owner_id, id)|@fieldName contact|@foreignFieldName interactions\n@behavior -insert -update -delete';
