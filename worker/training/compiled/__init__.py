"""The compiled trainer: on JAX, a chunk of epochs as one compiled program built from Keras's
own train_step and test_step (docs/compiled-trainer.md)."""
