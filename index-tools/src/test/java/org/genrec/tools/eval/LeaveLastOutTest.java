package org.genrec.tools.eval;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LeaveLastOutTest {

    private static LeaveLastOut.Event event(String user, String item, long time) {
        return new LeaveLastOut.Event(user, item, "click", time, null, null);
    }

    @Test
    void theLastEventInTimeOrderIsTheTargetWithEqualTimesInFileOrder() {
        List<LeaveLastOut.Case> cases = LeaveLastOut.cases(List.of(
            event("u1", "c", 30), event("u2", "x", 5), event("u1", "a", 10), event("u1", "d", 30), event("u1", "b", 20),
            event("u2", "y", 6)));
        assertEquals(1, cases.size(), "u2 has two events: none held out, as in the trainer");
        LeaveLastOut.Case c = cases.get(0);
        assertEquals("u1", c.userId());
        assertEquals("d", c.target().itemId(), "c and d share time 30: the later line is the later event");
        assertEquals(List.of("a", "b", "c"), c.history().stream().map(LeaveLastOut.Event::itemId).toList());
    }

    /** The trainer's toy log (trainer/tests/test_protocols.py, test_beauty_split_rules_on_toy_log): the same users kept. */
    @Test
    void theBeautyFilterDropsColdAndAlreadySeenTargetsAsTheTrainerDoes() {
        Map<String, List<String>> log = new LinkedHashMap<>();
        log.put("a", List.of("x", "y", "z", "w"));     // kept: w is in b's training events, not in a's history
        log.put("b", List.of("w", "x", "y", "v"));     // kept: v is e's first event
        log.put("c", List.of("x", "y", "z", "cold"));  // cold: in no user's events but as c's last
        log.put("d", List.of("y", "z", "x", "y"));     // seen: y is in d's own history
        log.put("e", List.of("v", "w", "x"));
        log.put("f", List.of("q", "r"));               // too short to hold out: trains only, and its items are known
        List<LeaveLastOut.Event> events = new ArrayList<>();
        log.forEach((user, items) -> {
            for (int i = 0; i < items.size(); i++) {
                events.add(event(user, items.get(i), 0));  // one timestamp: file order alone, as on Beauty
            }
        });
        assertEquals(5, LeaveLastOut.cases(events).size(), "HSTU's protocol keeps every user with 3 or more events");
        LeaveLastOut.Filtered filtered = LeaveLastOut.beautyCases(events);
        assertEquals(1, filtered.droppedCold());
        assertEquals(1, filtered.droppedSeen());
        assertEquals(List.of("a", "b", "e"), filtered.cases().stream().map(LeaveLastOut.Case::userId).toList());
        assertEquals(List.of("v", "w"), filtered.cases().get(2).history().stream().map(LeaveLastOut.Event::itemId).toList());
    }

    @Test
    void aTargetInTheUsersOwnHistoryIsSeenNeverCold() {
        List<LeaveLastOut.Event> events = List.of(event("u", "n", 1), event("u", "a", 2), event("u", "n", 3));
        LeaveLastOut.Filtered filtered = LeaveLastOut.beautyCases(events);
        assertEquals(0, filtered.droppedCold(), "n is in u's own history, which is training data, so it is known");
        assertEquals(1, filtered.droppedSeen());
    }
}
