"""Segmentation models as data, and the pure rules that classify answers under them."""
