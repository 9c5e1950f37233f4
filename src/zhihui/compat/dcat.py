"""DCAT-AP 3 export (placeholder until written)."""

from fastapi import APIRouter

router = APIRouter(tags=["dcat"])
