"""Runs wsauth_client.py through the kit's client grading: python3 conformance_driver.py http://127.0.0.1:9001

What any client under test does for each case (GET /cases lists them): get its tokens by
POST tokenUrl, connect to url, echo every application message it receives, and stop
once GET resultUrl answers. Prints {case id: status} as JSON.
"""
import asyncio
import concurrent.futures
import json
import sys
import urllib.request

from wsauth_client import WsAuthClient

TRANSPORTS = ["subprotocol", "auth-frame"]
FEATURES = ["retry-after"]  # it reads the status and Retry-After of a refused upgrade


def http(method, url):
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=60) as response:
        return json.load(response)


async def echo(client, data):
    await client.send(data)


async def run_case(case):
    async def get_token():
        return (await asyncio.to_thread(http, "POST", case["tokenUrl"]))["accessToken"]

    client = WsAuthClient(case["url"], get_token, echo, case["transport"] or TRANSPORTS[0])
    task = asyncio.ensure_future(client.run())
    result = await asyncio.to_thread(http, "GET", case["resultUrl"])
    await client.close()
    task.cancel()
    return case["id"], result["status"]


async def main(kit):
    # Every case waits on its result in a thread: the default pool (CPUs + 4) would starve the token requests.
    asyncio.get_running_loop().set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=64))
    cases = [c for c in http("GET", kit + "/cases")["cases"]
             if (c["transport"] is None or c["transport"] in TRANSPORTS) and all(f in FEATURES for f in c["requires"])]
    print(json.dumps(dict(await asyncio.gather(*(run_case(c) for c in cases)))))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
