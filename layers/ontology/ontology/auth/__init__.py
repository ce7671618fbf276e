"""Authentication and people: who is calling (:mod:`~ontology.auth.identity`: identity, roles, sessions
resolved from tokens, the API Gateway authorizer), accounts (:mod:`~ontology.auth.accounts`: argon2id
passwords, sessions, verification and reset tokens, rate limits, emails), OAuth sign-in
(:mod:`~ontology.auth.oauth`), users and memberships (:mod:`~ontology.auth.people`), Better Auth's
endpoints (:mod:`~ontology.auth.app`) and the rate limits counted in DynamoDB
(:mod:`~ontology.auth.ratelimit`: per client address, per session's function calls). It stands on the
data layer; the runtime imports its identity and the function-call limit.
"""
