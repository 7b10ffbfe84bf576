"""Unit specifications: what a configuration of each unit is, and the one place its options
are checked.  Imports only ``fpforge.sim.formats``, so the golden model, the hardware, the
test benches and the command line can all depend on it."""
