"""REST API views (thin: validation in serializers, work in services)."""
