"""Rough per-stage cost of a genrec request: the same 50-event histories sent as genrec with and without
ranking and history exclusion, plain genrec_knn and match_all, one client, p50/p90 over 200 requests each.
Needs a node on 127.0.0.1:9271 with the fixture model as "synthetic" and its items in "items" (BENCHMARKS.md)."""
import json, random, time, urllib.request, statistics, http.client
items=[json.loads(l)['item_id'] for l in open('target/fixture-bundle/items.jsonl')]
emb=None
conn=http.client.HTTPConnection('127.0.0.1',9271)
def post(body):
    conn.request('POST','/items/_search',body=json.dumps(body),headers={'Content-Type':'application/json'})
    r=conn.getresponse(); data=r.read(); assert r.status==200, data[:300]
    return json.loads(data)
random.seed(1)
def hist(n): return [{'item':random.choice(items),'action':'click','time':1700000000+60*i} for i in range(n)]
variants={
 'genrec rank=true':  lambda h: {'size':10,'_source':False,'query':{'genrec':{'model':'synthetic','vector_field':'item_vector','history':h,'k':100,'request_time':1700100000}}},
 'genrec rank=false': lambda h: {'size':10,'_source':False,'query':{'genrec':{'model':'synthetic','vector_field':'item_vector','history':h,'k':100,'request_time':1700100000,'rank':False}}},
 'genrec rank=false no exclusion': lambda h: {'size':10,'_source':False,'query':{'genrec':{'model':'synthetic','vector_field':'item_vector','history':h,'k':100,'request_time':1700100000,'rank':False,'exclude_history':False}}},
 'genrec_knn (fixed vector)': lambda h: {'size':10,'_source':False,'query':{'genrec_knn':{'field':'item_vector','vector':[0.1767767]*32,'k':100}}},
 'match_all': lambda h: {'size':10,'_source':False,'query':{'match_all':{}}},
}
hs=[hist(50) for _ in range(50)]
for name,f in variants.items():
    for h in hs[:20]: post(f(h))
    ts=[]
    for r in range(4):
        for h in hs:
            t=time.perf_counter(); post(f(h)); ts.append((time.perf_counter()-t)*1000)
    ts.sort()
    print(f"{name:32s} p50 {statistics.median(ts):6.2f} ms  p90 {ts[int(len(ts)*0.9)]:6.2f} ms")
