"""The artifact format sits at the bottom of ``ml``: reading (serving) and writing (registry)
versions never import the training package."""

from __future__ import annotations

from tests.ml.support import run_in_fresh_interpreter


def test_serving_and_the_registry_load_without_training():
    run_in_fresh_interpreter(
        """
        import sys

        def training_modules():
            return sorted(m for m in sys.modules if m == "ml.training" or m.startswith("ml.training."))

        import ml.serving
        assert not training_modules(), ("ml.serving", training_modules())
        import ml.registry
        assert not training_modules(), ("ml.registry", training_modules())
        print("ok")
        """
    )
