"""The compiled read path: a query operation answered by one SQL statement (DESIGN §10).

After Strawberry parses and validates an operation, ``reads.extension`` asks ``reads.service``
for a plan. When every selected field compiles (``reads.compile``), PostgreSQL renders the
whole ``data`` object as JSON text, byte for byte what the resolvers would answer, and the
server writes that text into the response unparsed. Anything else runs through the resolvers.
"""
