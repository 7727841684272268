-- The home screen as one SQL statement, for pgbench (bench/home.py runs it with -M prepared and
-- -D owner=<the demo user's id>): the first 50 living contacts of the owner by next follow-up
-- (store/contacts.py NEXT_FOLLOW_UP: next_follow_up_at NULLS LAST, then id), each with its 3
-- newest living interactions (store/interactions.py latest_for_contacts: through the participants
-- index, occurred_at DESC, interaction id DESC), rendered as the JSON of Rapport's HOME_QUERY
-- `data` in PostgreSQL. The cursor is the keyset values as a JSON array: each contender has its
-- own cursor format, and the bench compares rows, not cursors. The owner predicate is on every
-- FROM, as in Rapport's reads. bench/home.py also runs this text once to compare its rows.
SELECT json_build_object('contacts', json_build_object(
  'edges', coalesce(json_agg(json_build_object(
    'cursor', json_build_array(p.next_follow_up_at, p.id),
    'node', json_build_object(
      'id', p.id,
      'displayName', btrim(p.first_name || ' ' || p.last_name),
      'company', p.company,
      'nextFollowUpAt', p.next_follow_up_at,
      'lastInteractionAt', p.last_interaction_at,
      'interactions', json_build_object('nodes', coalesce(l.nodes, '[]'::json))))
    ORDER BY p.n) FILTER (WHERE p.n <= 50), '[]'::json),
  'pageInfo', json_build_object(
    'hasNextPage', count(*) > 50,
    'endCursor', (array_agg(json_build_array(p.next_follow_up_at, p.id) ORDER BY p.n DESC)
      FILTER (WHERE p.n <= 50))[1])))
FROM (
  SELECT c.owner_id, c.id, c.first_name, c.last_name, c.company, c.next_follow_up_at,
         c.last_interaction_at,
         row_number() OVER (ORDER BY c.next_follow_up_at NULLS LAST, c.id) AS n
  FROM contacts AS c
  WHERE c.owner_id = :owner::uuid AND c.cl % 2 = 1
  ORDER BY c.next_follow_up_at NULLS LAST, c.id
  LIMIT 51
) AS p
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_object(
    'id', i.id, 'kind', i.kind, 'occurredAt', t.occurred_at, 'summary', i.summary)
    ORDER BY t.occurred_at DESC, t.interaction_id DESC) AS nodes
  FROM (
    SELECT ip.owner_id, ip.interaction_id, ip.occurred_at
    FROM interaction_participants AS ip
    WHERE p.n <= 50 AND ip.owner_id = p.owner_id AND ip.contact_id = p.id AND ip.alive
    ORDER BY ip.occurred_at DESC, ip.interaction_id DESC
    LIMIT 3
  ) AS t
  JOIN interactions AS i ON i.owner_id = t.owner_id AND i.id = t.interaction_id
) AS l ON true;
