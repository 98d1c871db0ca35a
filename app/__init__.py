"""Segmentti: client segmentation for Finnish social and health care."""
