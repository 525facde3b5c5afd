from django.urls import path

from frontdesk import account_views, views
from reviews import rotation_views, staff_views

urlpatterns = [
    path("", views.home, name="home"),
    path("review/<id:page_id>/", views.review, name="review"),
    path("pages/<id:page_id>/", views.page_detail, name="page"),
    path("users/<str:username>/", views.user_profile, name="user"),
    path("account/claim/", account_views.claim, name="account-claim"),
    path("account/login/", account_views.LoginView.as_view(), name="login"),
    path("account/logout/", account_views.LogoutView.as_view(), name="logout"),
    path("staff/sources/<path:name>", staff_views.source_file, name="staff-source"),
    path("staff/pages/<id:page_id>/rotation/", rotation_views.page_rotation, name="staff-page-rotation"),
    path("account/password-reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "account/password-reset/sent/",
        account_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "account/reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/reset/done/",
        account_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
