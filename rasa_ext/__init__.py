"""Nimbus's additions to the Rasa 3.6.21 server, each on one of Rasa's extension points.

Loaded by plain `rasa run` from the two files it reads: the server channel
`rasa_ext.server.NimbusServer` listed in credentials.yml (readiness route, start-up work,
and applying `rasa_ext.patches`, the one guarded module for what has no extension point),
and the lock and tracker store classes named in endpoints.yml / endpoints.redis.yml.
docs/rasa-extensions.md lists each addition and what it was measured to gain.
"""
