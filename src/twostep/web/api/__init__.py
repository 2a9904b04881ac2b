"""The JSON API under ``/api/v1``: one short route per service call."""
