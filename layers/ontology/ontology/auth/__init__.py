"""Authentication and people: who is calling (:mod:`~ontology.auth.identity`: identity, roles, sessions
resolved from tokens, the API Gateway authorizer), accounts (:mod:`~ontology.auth.accounts`: argon2id
passwords, sessions, verification and reset tokens, rate limits, emails), OAuth sign-in
(:mod:`~ontology.auth.oauth`), users and memberships (:mod:`~ontology.auth.people`), and Better Auth's
endpoints (:mod:`~ontology.auth.app`). It stands on the data layer; the runtime imports its identity.
"""
