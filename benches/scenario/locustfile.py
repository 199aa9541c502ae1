# The same iteration as benches/scenario/login.yaml, for Locust's FastHttpUser (no wait time:
# a closed loop, as `harness load --users N`).
from locust import task
from locust.contrib.fasthttp import FastHttpUser


class Login(FastHttpUser):
    @task
    def iteration(self):
        with self.client.post("/login", json={"username": "bench", "password": "secret"},
                              catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
                return
            token = r.json()["token"]
        with self.client.get("/me", headers={"Authorization": f"Bearer {token}"},
                             catch_response=True) as r:
            if r.status_code != 200 or r.json().get("id") != 1:
                r.failure("check failed")
