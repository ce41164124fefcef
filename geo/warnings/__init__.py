"""Warnings: what rules propose, and their lifecycle (candidate → issued → updated → ended)."""
