"""CKAN Action API (placeholder until written)."""

from fastapi import APIRouter

router = APIRouter(tags=["ckan"])
