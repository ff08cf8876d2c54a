from rest_framework.routers import SimpleRouter

from routing.api import EQLViewSet

router = SimpleRouter()
router.register("eqls", EQLViewSet, basename="eql")
urlpatterns = router.urls
