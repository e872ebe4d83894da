"""Doppel's deep-ranking embedding: training, conversion and export pipeline."""
