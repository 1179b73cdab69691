"""Heterogeneous zero-shot federated audio classification on Flower.

Pure maths (aggregation, soft targets, clustering) is apart from plumbing (the ServerApp, the
ClientApp and the engines that run them).
"""
