"""Turning retrieved passages into an answer a customer can trust: prompt, model, citations."""
