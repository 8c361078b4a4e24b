import Foundation
import Imaging
import Testing

/// Colormaps against matplotlib's own output; the overlay against a numpy reference.
@Suite struct HeatmapRenderingTests {
    struct Points: Decodable {
        let values: [Float]
        let rgb: [[UInt8]]
    }

    @Test func colormapsMatchMatplotlib() throws {
        let data = Data(try Fixtures.jpegFile("colormap-points.json"))
        let points = try JSONDecoder().decode([String: Points].self, from: data)
        #expect(points.count == Colormap.allCases.count)
        for map in Colormap.allCases {
            let reference = try #require(points[map.rawValue])
            for (value, rgb) in zip(reference.values, reference.rgb) {
                #expect(map.color(for: value) == RGB(rgb[0], rgb[1], rgb[2]), "\(map) at \(value)")
            }
        }
    }

    @Test func overlayMatchesReference() throws {
        let photo = try Fixtures.photo()
        let heat = Fixtures.floats(try Fixtures.jpegFile("heatmap-5x4.f32"))
        let out = try photo.overlay(heatmap: heat, width: 5, height: 4, colormap: .jet, alpha: 0.4)
        let diff = Fixtures.difference(out.bytes, try Fixtures.jpegFile("overlay-jet-0.4.rgb"))
        #expect(diff.max <= 1)
        #expect(diff.count * 100 <= out.bytes.count)
    }

    @Test func overlayRejectsBadInput() throws {
        let photo = try Fixtures.photo()
        #expect(throws: ImageError.self) { try photo.overlay(heatmap: [0, 1], width: 5, height: 4) }
        #expect(throws: ImageError.self) { try photo.overlay(heatmap: [0, 1], width: 2, height: 1, alpha: 1.5) }
    }

    @Test func boxOutlineCoversExactlyThePerimeter() throws {
        var image = try RGBImage(width: 10, height: 8, fill: .black)
        let rect = PixelRect(x0: 2, y0: 1, x1: 6, y1: 4)  // 5 x 4, inclusive corners
        image.drawBox(rect, color: .red, lineWidth: 1)
        for y in 0 ..< 8 {
            for x in 0 ..< 10 {
                let inside = (2 ... 6).contains(x) && (1 ... 4).contains(y)
                let onEdge = inside && (x == 2 || x == 6 || y == 1 || y == 4)
                #expect(image.pixel(x: x, y: y) == (onEdge ? .red : .black), "(\(x), \(y))")
            }
        }
        image.drawBox(PixelRect(x: -5, y: 6, width: 30, height: 10), color: .green, lineWidth: 3)  // clipped
        #expect(image.pixel(x: 0, y: 7) == .green)
    }
}
