"""The engines that run a traced update rule (:mod:`optimizers.ir`).

* :mod:`~optimizers.engines.scalar`: Python source over floats, one run at a time (the
  interactive case: a handful of runs on a 2-D surface);
* :mod:`~optimizers.engines.vector`: NumPy, in place, on structure-of-arrays chunks of runs;
* :mod:`~optimizers.engines.compiled`: torch operations, several steps per call, compiled by
  inductor into one C++ (or GPU) loop.
"""
