"""genrec trainer: data, model, training, evaluation and bundle export (docs/bundle-format.md)."""
