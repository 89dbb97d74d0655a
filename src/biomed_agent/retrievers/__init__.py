"""Retrieval: HTTP clients for public records and the knowledge store they feed.

* :mod:`~biomed_agent.retrievers.http`: the shared polite HTTP layer (timeouts, retries,
  rate limits, persistent cache, offline mode, typed errors);
* :mod:`~biomed_agent.retrievers.pubchem`, :mod:`~biomed_agent.retrievers.uniprot`,
  :mod:`~biomed_agent.retrievers.pubmed`: batched clients that return LangChain
  ``Document`` objects (see ``docs/retrieval.md`` for the contract);
* the knowledge store, embeddings, retriever and local-file loaders live in the other
  modules of this package.

Nothing heavy is imported here; import the module you need.
"""
