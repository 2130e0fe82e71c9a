package org.genrec.runtime.bench;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** The request every benchmark here encodes: {@code length} random catalogue items, one a minute. */
final class BenchHistories {

    private BenchHistories() {}

    static GenrecRequest request(GenrecModel model, int length, Random random) {
        var items = model.bundle().items();
        List<HistoryEvent> events = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            events.add(new HistoryEvent(items.items().get(random.nextInt(items.size())).itemId(), model.manifest().actions().get(0), i * 60L,
                null));
        }
        return new GenrecRequest(events, "bench", length * 60L);
    }
}
