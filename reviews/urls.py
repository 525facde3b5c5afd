from django.urls import path

from frontdesk import views
from reviews import rotation_views, staff_views

urlpatterns = [
    path("", views.home, name="home"),
    path("review/<id:page_id>/", views.review, name="review"),
    path("pages/<id:page_id>/", views.page_detail, name="page"),
    path("users/<str:username>/", views.user_profile, name="user"),
    path("account/claim/", views.claim, name="account-claim"),
    path("account/login/", views.LoginView.as_view(), name="login"),
    path("account/logout/", views.LogoutView.as_view(), name="logout"),
    path("staff/sources/<path:name>", staff_views.source_file, name="staff-source"),
    path("staff/pages/<id:page_id>/rotation/", rotation_views.page_rotation, name="staff-page-rotation"),
    path("account/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("account/password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "account/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("account/reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
