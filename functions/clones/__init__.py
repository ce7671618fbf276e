"""AI clones (``clones:``): a creator's digital twin, trained on what the creator authored.

One namespace in four files, as the code falls: ``training`` (create a clone, train it, read it),
``chat`` (talk with it, a conversation's messages), ``voice`` (clone the creator's voice, speak) and
``appearance`` (clone a portrait). What they share is in :mod:`ontology.services.clones`.
"""

NAMESPACE = "clones"
