"""GNN track reconstruction on the detector's events (see docs/tracking.md).

Modules, in the order data flows: ``settings`` (named samples, cuts and splits), ``sample`` (detector events
made and read with the cut), ``event_graph`` (the hit graph of an event and its files: the contract),
``module_map`` and ``embedding`` (graph builders), ``components`` (track candidates, Truth-CC) and
``metrics`` (matching, efficiency, purity, TrackML score, graph edge efficiency and purity).
"""
