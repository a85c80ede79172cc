"""sr_lab's Hydra sweeper on Optuna's ask-and-tell API (``hydra/sweeper=sr_lab_optuna``)."""
