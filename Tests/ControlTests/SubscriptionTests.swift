import Foundation
import SanitizerSupport
import Testing
@testable import Control

@Suite struct SubscriptionTests {
    @Test func subscribersReceiveOnlyTheKindsTheyAskedFor() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        let ack = try raw.exchange(#"{"id":"s","cmd":"subscribe","args":{"kinds":["detection"]}}"#)
        #expect(ack == ["id": "s", "ok": true, "result": ["kinds": ["detection"]]])
        let everything = try server.client().subscribe()
        server.server.events.publish(kind: "camera", data: ["state": "connected"])
        server.server.events.publish(kind: "detection", data: ["id": 5, "label": "cat"])
        #expect(try raw.readText() == #"{"data":{"id":5,"label":"cat"},"event":"detection"}"#)
        #expect(try everything.next(timeout: .seconds(2)) == ControlEvent(kind: "camera", data: ["state": "connected"]))
        #expect(try everything.next(timeout: .seconds(2))?.kind == "detection")
        #expect(server.server.events.subscriberCount == 2)
    }

    @Test func subscribeRejectsBadKinds() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        #expect(try raw.exchange(#"{"id":1,"cmd":"subscribe","args":{"kinds":"detection"}}"#).errorCode == "bad_args")
        #expect(try raw.exchange(#"{"id":2,"cmd":"subscribe","args":{"kind":["x"]}}"#).errorCode == "bad_args")
        #expect(server.server.events.subscriberCount == 0)
    }

    @Test func aSubscriberThatDoesNotReadNeitherBlocksPublishingNorLosesCount() throws {
        let server = try TestServer { $0.maxOutgoingBytes = 8 * 1024 }
        defer { server.stop() }
        let client = try server.client()
        let events = try client.subscribe(kinds: ["detection"])
        let total = 20_000
        let payload = String(repeating: "p", count: 100)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for sequence in 0..<total {
                server.server.events.publish(kind: "detection", data: ["seq": .number(Double(sequence)), "pad": .string(payload)])
            }
        }
        // Publishing never waited on the client: a publisher that did would stall for good on
        // the 8 KiB outbox. The bound (0.5 ms per event) leaves room for a loaded debug build;
        // scaled for sanitizer builds, which make all code slower.
        #expect(elapsed < SanitizerBuild.current.duration(.seconds(10)), "\(SanitizerBuild.current)")
        let statistics = server.server.events.statistics
        #expect(statistics.dropped > 0)
        #expect(statistics.delivered + statistics.dropped == total)

        // Every event is either received, in order, or counted in a "dropped" notice. Read
        // until all are accounted for (a stalled server thread only delays that), or for 30 s.
        var received = 0
        var announcedDrops = 0
        var lastSequence = -1
        let deadline = clock.now.advanced(by: .seconds(30))
        while received + announcedDrops < total, clock.now < deadline, let event = try? events.next(timeout: .seconds(5)) {
            if event.kind == ControlEvent.droppedKind {
                announcedDrops += event.data["count"]?.intValue ?? 0
            } else {
                let sequence = event.data["seq"]?.intValue ?? -1
                #expect(sequence > lastSequence)
                lastSequence = sequence
                received += 1
            }
        }
        #expect(received + announcedDrops == total)
        #expect(announcedDrops == statistics.dropped)
    }

    @Test func subscribersAreForgottenWhenTheyLeave() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        _ = try client.subscribe()
        #expect(server.server.events.subscriberCount == 1)
        client.close()
        let deadline = ContinuousClock().now.advanced(by: .seconds(2))
        while server.server.events.subscriberCount > 0, ContinuousClock().now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(server.server.events.subscriberCount == 0)
    }
}
