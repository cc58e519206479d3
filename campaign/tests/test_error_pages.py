"""Error pages (DEBUG=False, as in production): Chinese, in the site's layout, with a way back."""

import pytest
from django.test import Client, RequestFactory
from django.urls import path
from django.views import defaults

from campaign.urls import urlpatterns as project_urls

pytestmark = pytest.mark.django_db


def crash(request):
    raise RuntimeError("a bug")


urlpatterns = [path("crash/", crash), *project_urls]


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False


def test_a_missing_page_is_a_chinese_404_with_the_menu_and_a_way_back(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en-US")
    page = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in page
    assert 'data-testid="who"' in page  # the menu of the logged-in user
    assert "返回我的首页" in page and 'href="/"' in page
    assert "Not Found" not in page


def test_a_forbidden_page_is_a_chinese_403_with_the_menu(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    response = client.get("/appointments/site/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "无权访问此页面" in page
    assert 'data-testid="who"' in page and "返回我的首页" in page
    assert "403 Forbidden" not in page


def test_a_bad_request_is_a_chinese_400(client, settings):
    response = client.get("/accounts/login/", HTTP_HOST="not-an-allowed-host.example")
    page = response.content.decode()
    assert response.status_code == 400
    assert "请求无法识别" in page
    assert "返回登录页" in page


def test_a_server_error_is_a_chinese_500_with_a_way_back(settings, cadre_qingshan):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(cadre_qingshan)
    response = client.get("/crash/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "系统出错了" in page and "返回首页" in page
    assert "bootstrap.min.css" in page  # styled like the site
    assert "Server Error" not in page


@pytest.mark.django_db(databases=[])
def test_the_500_page_renders_without_a_request_context_or_the_database():
    # Django renders 500.html with no context processors; any database query here would raise.
    response = defaults.server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "系统出错了" in page and 'href="/"' in page


def test_a_refused_form_token_is_explained_in_chinese(cadre_qingshan):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cadre_qingshan)
    response = client.post("/residents/new/", {"name": "张三"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "表单已过期" in page and "未保存" in page
    assert 'data-testid="who"' in page
    assert "CSRF verification failed" not in page


def test_a_refused_login_form_token_is_explained_to_a_logged_out_user():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x", "password": "y"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "表单已过期" in page and "返回登录页" in page
