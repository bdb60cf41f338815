"""GNN track reconstruction on the detector's events (see docs/tracking.md).

Modules, in the order data flows: ``settings`` (named samples, cuts, splits and efficiency bins), ``sample``
(detector events made and read with the cut), ``event_graph`` (the hit graph of an event and its files: the
contract), ``module_map`` and ``embedding`` (graph builders; ``builders`` fits them once per setting),
``graph_building`` and ``graph_files`` (writing and reading a folder of graphs), ``edge_training``,
``reconstruction`` and ``components`` (track candidates, Truth-CC), ``evaluation``, ``chain_evaluation`` and
``results`` (efficiency, purity, TrackML score, the results table), ``selection`` and ``explanation`` (one
edge shown and explained), ``edge_drop`` (the slides' inefficient graph at test time). The hierarchical
models train in ``hgnn_training`` (losses in ``hgnn_losses``) and build candidates in ``clustering``.
``jobs`` holds one function per ``hepxai tracking`` command. The metrics are pure functions in
:mod:`hepxai.metrics.tracking`.
"""
