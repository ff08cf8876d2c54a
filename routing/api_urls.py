from rest_framework.routers import SimpleRouter

from routing.api import EQLViewSet
from routing.attribution.api import AttributionViewSet

router = SimpleRouter()
router.register("eqls", EQLViewSet, basename="eql")
router.register("attribution", AttributionViewSet, basename="attribution")
urlpatterns = router.urls
