"""The demo: the whole pipeline on a synthetic scene, and the reference predictions it scores."""

from handeval.demo.pipeline import DEMO_PROTOCOLS, DemoOutputs, run_demo

__all__ = ["DEMO_PROTOCOLS", "DemoOutputs", "run_demo"]
